"""One command per paper table: every run it needs (pretraining included), in order, then the table.

    python tools/reproduce.py --list
    python tools/reproduce.py ID --dry-run [--seeds N] [--gpus N] [--launcher none|pytorch|slurm]
    python tools/reproduce.py ID [--seeds N] [--gpus N] [--launcher ...] [--partition P]   # runs, skips finished
    python tools/reproduce.py ID --collect                  # table.md / table.csv / table.png beside the paper

Runs live in ``--work-root`` (default work_dirs/reproduce/runs/<config>_seed<s>); a killed reproduction
resumes where it stopped: finished runs are skipped, a stopped training run continues from its last
checkpoint (``--resume``). On N < 8 GPUs the papers' total batch is kept with the config's per-GPU batch:
gradients are accumulated over 8/N iterations (``optim_wrapper.accumulative_counts``); iteration-based configs
(segmentation, ViTDet) also make 8/N times the iterations, every iteration count of the config (schedulers,
intervals) stretched so that each optimizer step has the original lr (docs/at_scale.md).
``--auto-scale-lr`` instead keeps the per-GPU batch and the iterations and scales the learning rate linearly
(not the papers' protocol).
"""
import argparse

from mmedit_vit.reproduce import LAUNCHERS, TABLES, Plan, build_table, collect, dry_run, execute


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('table', nargs='?', help='table id (see --list)')
    parser.add_argument('--list', action='store_true', help='print the table ids, one line each')
    parser.add_argument('--dry-run', action='store_true', help='print every command, in order; run nothing')
    parser.add_argument('--collect', action='store_true', help='write the table from the finished runs')
    parser.add_argument('--seeds', type=int, default=None, help='runs per cell (default 3; cb-table9: 5 noise seeds)')
    parser.add_argument('--gpus', type=int, default=8, help='GPUs per run (1, 2, 4, 8 or a multiple of 8)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default=None,
                        help='default: pytorch (torchrun) for several GPUs, none for one')
    parser.add_argument('--partition', default='gpu', help='slurm partition')
    parser.add_argument('--work-root', default='work_dirs/reproduce')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='keep the per-GPU batch and iterations and scale the lr instead of keeping the '
                        'papers\' total batch')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='key=value options added to every run')
    parser.add_argument('--out', help='--collect: folder of the table files (default WORK_ROOT/ID)')
    args = parser.parse_args(argv)
    if args.list:
        for table_id, (line, _) in TABLES.items():
            print(f'{table_id:12s} {line}')
        return
    if not args.table:
        parser.error('give a table id (see --list)')
    launcher = args.launcher or ('none' if args.gpus == 1 else 'pytorch')
    try:
        table = build_table(args.table, args.seeds)
        plan = Plan(work_root=args.work_root, gpus=args.gpus, launcher=launcher, cfg_options=tuple(args.cfg_options),
                    auto_scale_lr=args.auto_scale_lr, partition=args.partition,
                    scale_batch=table.paper_gpus is not None)
        plan.check(table)
    except ValueError as err:
        raise SystemExit(str(err))
    if args.dry_run:
        print('\n'.join(dry_run(table, plan)))
    elif args.collect:
        result = collect(table, plan, args.out)
        print(result['markdown'])
    else:
        execute(table, plan)
        print(collect(table, plan, args.out)['markdown'])


if __name__ == '__main__':
    main()
