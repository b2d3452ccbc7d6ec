"""Images for the lab: decoding and encoding uploads (Pillow), image <-> array conversion, named kernels.
numpy and Pillow and the engine only.
"""
