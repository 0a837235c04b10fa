"""The networks: StyleGAN2 and StyleGAN3 in plain PyTorch, their ops and their configs."""
