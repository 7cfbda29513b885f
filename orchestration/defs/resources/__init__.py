"""Resources shared by every area (`qualitrace`: the plant's home and exports folder)."""
