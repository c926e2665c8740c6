"""stsr integrations: the command line, the mpv player and the watch folder."""
