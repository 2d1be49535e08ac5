"""Models: the interpreter loader (runtime), the model card (card), the detector (detector), training."""
