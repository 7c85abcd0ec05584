"""Reference numbers from the papers' tables that the project's models are checked against."""
# EDIT paper, Table 1: parameters (M) and FLOPs (G multiply-adds) at 224x224 with 1000 classes
EDIT_TABLE1 = {'tiny': (5.82, 1.42), 'small': (22.30, 5.28), 'base': (87.76, 20.27)}
