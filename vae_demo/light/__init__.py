"""Light and colour: a conditional VAE that fixes exposure, haze / flat tone and colour casts."""
