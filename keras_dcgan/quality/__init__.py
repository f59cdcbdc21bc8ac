"""Quality: how good a generator is, measured.

features.py      feature extractors (InceptionV3, or a classifier)
classifier.py    a small CNN trained on labelled data, for its features
stats.py         feature statistics, cached per real data set
metrics.py       FID, KID, Inception Score, precision and recall
evaluation.py    a generator (or a run) scored against real images
"""
