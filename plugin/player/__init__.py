"""``stsr play``: live smoothed playback in mpv (libmpv through python-mpv).

- :mod:`.mpv_stream`: a custom mpv stream protocol with fast (memmove) reads, via ctypes.
- :mod:`.stream`: the YUV4MPEG2 byte stream (fixed-size records: byte offset = frame index).
- :mod:`.frames`: the engine side: decoded source frames, restarts, the frame buffer ahead of mpv.
- :mod:`.player`: the mpv session: options, keys, OSD, and the real-time policy.
"""
