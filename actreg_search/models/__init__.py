"""From a trial config to a marked Keras model: the built-in families, a user's builder or ``.keras`` file, the penalties."""
