"""Built-in catalog data (YAML), shipped inside the wheel and read with importlib.resources."""
