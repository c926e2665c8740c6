"""Video in and out: PyAV files, YUV4MPEG2 pipes, colour conversions."""
