"""Datasets: download, bundled samples and loaders."""
