"""Code generation: print derivative code as readable source, write it to a file, compile it."""
