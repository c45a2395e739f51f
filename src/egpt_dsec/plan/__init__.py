"""Planning is pure: image timestamps and options in, clip windows and frame ranges out."""
