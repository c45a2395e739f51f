"""The words a model is asked with: the prompt templates, the label before each image,
and the legend that says how to read the images (pure text, no I/O).

``annotate`` builds its requests from these; the cost estimate (``answers.cost``)
counts their tokens, so both stay the same. Change one and bump
``annotate.prompt.PROMPT_VERSION`` (it is in the settings key).
"""

from __future__ import annotations

DEFAULT_TEMPLATE = """\
The images below come from one {duration} s clip recorded by a car driving on public roads \
(the DSEC dataset). {legend}

{images}

Answer the question about the whole clip in a few sentences, describing only what is visible.
{question}"""

# The replaced script's request (--preset legacy): one camera image, no labels.
LEGACY_TEMPLATE = """Here is a camera image:
{images}
Question: {question}"""

# Which frames a request shows: spread evenly over the clip, or its image_idx frame alone.
EVEN, IMAGE_IDX = "even", "image_idx"
FRAME_PICKS = (EVEN, IMAGE_IDX)
FRAMES_LEGEND = "Camera frames are labelled with their time from the start of the clip."
VIDEO_LEGEND = "The video holds the clip's camera frames, {fps:g} a second."
EVENTS_LEGEND = (
    " Event-camera images show where the brightness changed in each consecutive part of "
    "the clip: {style}"
)
STYLE_LEGENDS = {
    "last": "red where it rose, blue where it fell (the latest change wins), white where "
    "it did not change.",
    "red": "red where it rose, blue where it fell (red where it did both), white where it "
    "did not change.",
    "blue": "red where it rose, blue where it fell (blue where it did both), white where it "
    "did not change.",
    "gray": "mid-gray where it did not change, lighter where it rose, darker where it fell.",
}


LABELS_HEADER = (
    "Objects labelled in this clip (DSEC-Detection; class: side and distance in the "
    "event camera's view, motion, seconds from the start of the clip):"
)
NO_LABELLED_OBJECTS = "No object is labelled in this clip (DSEC-Detection)."
FRAME_LABEL = "Camera frame {n} of {count}, at {t:.2f} s:"
EVENT_LABEL = "Event-camera image {n} of {count} (part {n} of the clip):"
VIDEO_LABEL = "Camera video, {count} frames:"
