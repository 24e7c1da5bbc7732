"""Photo restoration: the conditional VAE, degradations, classical baselines, restoring and training."""
