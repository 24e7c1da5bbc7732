"""Digit and face VAEs: the model, its likelihoods, data, training, evaluation and latent-space inference."""
