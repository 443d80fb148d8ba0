"""The admin web UI, served on the admin listener at /ui (server-rendered: Jinja2 and htmx)."""
