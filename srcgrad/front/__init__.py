"""Front end: read a function's source, reject what cannot be differentiated, normalise the rest."""
