"""Write (or ``--check``) model-index.yml and configs/<family>/metafile.yaml from the configs and the papers' tables.

Usage: ``python tools/model_index.py [--check]`` (the command line is ``mmedit_vit.apis.model_index``)."""
import sys

from mmedit_vit.apis.model_index import main

if __name__ == '__main__':
    sys.exit(main())
