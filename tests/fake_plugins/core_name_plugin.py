from imgrestore import TaskSpec, hookimpl


@hookimpl
def imgrestore_register_tasks(register):
    register(TaskSpec(name="masks", summary="a task named like a core command", select_model="x:y", prepare="x:y"))
