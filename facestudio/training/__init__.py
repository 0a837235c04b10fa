"""Training the bundled face model: data, discriminator, augmentation, loop, metrics."""
