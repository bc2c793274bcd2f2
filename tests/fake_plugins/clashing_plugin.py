from imgrestore import TaskSpec, hookimpl


@hookimpl
def imgrestore_register_tasks(register):
    register(TaskSpec(name="denoise", summary="an impostor", select_model="x:y", prepare="x:y"))
