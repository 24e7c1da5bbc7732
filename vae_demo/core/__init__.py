"""What every model family shares: distributions, the Trainer, devices, image input, weights and model cards."""
