"""Sandbox runner: runs model-written code in one killable Deno process per execution."""
