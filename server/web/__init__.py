"""The only package that knows about HTTP and WebSockets."""
