"""The classic baseline: an SVM over utterance-level functionals (openSMILE eGeMAPS / ComParE).

The standard comparison of the speech-emotion field, run on the same data directories, folds and
normalisation as the networks, so that every results table can say what a network adds:

  config      conf/svm.yaml: the grid and the inner cross-validation (SvmConfig)
  data        a data directory's functionals (one row per utterance), CMVN-normalised, labelled
  kernels     kernel matrices and the SVC on them (scikit-learn, the optional extra `classic`)
  selection   kernel and C chosen by speaker-grouped cross-validation on the training speakers
  experiment  select, refit, predict: predictions.tsv, classes.txt and svm.yaml of an experiment
"""
