"""Twin reconstruction: demonstrations in, digital-twin packages out."""
