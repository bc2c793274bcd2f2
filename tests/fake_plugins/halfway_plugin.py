from imgrestore import TaskSpec, hookimpl


@hookimpl
def imgrestore_register_tasks(register):
    register(TaskSpec(name="halfway", summary="registered before the failure", select_model="x:y", prepare="x:y"))
    raise RuntimeError("the second task's model is missing")


@hookimpl
def imgrestore_register_commands(cli):
    @cli.command()
    def halfway_tool():
        """A command of a plugin whose tasks failed."""
