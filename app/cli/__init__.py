"""The ``wallet`` admin command (:mod:`app.cli.main`): each command parses its arguments,
calls the core in one unit of work (:mod:`app.cli.support`) and formats the answer."""
