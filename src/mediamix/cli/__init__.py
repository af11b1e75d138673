"""CLI layer: a thin typer app (parse -> call the library -> print). The top layer."""
