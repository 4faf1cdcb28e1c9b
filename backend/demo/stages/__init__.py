"""The demo's steps by stage; :mod:`backend.demo.pipeline` runs them in order."""
