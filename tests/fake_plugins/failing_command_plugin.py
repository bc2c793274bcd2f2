from imgrestore import hookimpl


@hookimpl
def imgrestore_register_commands(cli):
    raise RuntimeError("cannot add my command")
