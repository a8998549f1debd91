"""The command line: merges options, calls the library, turns typed errors into Chinese messages and exit codes."""
