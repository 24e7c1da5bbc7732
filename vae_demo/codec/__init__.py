"""A learned image codec: a VAE whose latent is quantised and entropy-coded (Ballé et al. 2018)."""
