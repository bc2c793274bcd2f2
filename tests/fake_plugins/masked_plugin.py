"""A toy task with a second input (a mask), to prove the core carries masks end to end.
Its model (built by the test) inverts every pixel; the core must keep the unmasked ones."""

from imgrestore import TaskSpec, hookimpl
from imgrestore.inference import image_input, mask_input


def select_model(options, picture):
    return "invert-holes-model"  # tests always pass --model FILE


def prepare(picture, options, info):
    return {"image": image_input(picture, info), "mask": mask_input(picture)}


@hookimpl
def imgrestore_register_tasks(register):
    register(TaskSpec(name="invert-holes", summary="Invert the masked pixels (test task).",
                      select_model=select_model, prepare=prepare, inputs=("image", "mask")))
