"""Training: losses (losses.py) and the training loop, shared by speech and faces."""
