from imgrestore import TaskSpec, hookimpl


@hookimpl
def imgrestore_register_task(register):  # the hook is imgrestore_register_tasks
    register(TaskSpec(name="misspelled", summary="never registered", select_model="x:y", prepare="x:y"))
