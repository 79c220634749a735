"""The eight tabs, controls on the left and results on the right, each button wired to its handler
under its `api_name`."""
from __future__ import annotations

import gradio as gr

from .. import animations, first_visit, handlers
from ..validation import MAX_COMPLETION_STEPS, MAX_GRID, MAX_SAMPLES, MAX_STEPS, MAX_TEMPERATURE
from ..widgets import (ALL_CLASSES, AUTO_CLASS, RESOLUTION_CHOICES, class_dropdown, example_gallery, image_input,
                       invert_radio, output_image)
from .controls import ModelBound, images_checked, offer_better_model, seed_box, single_image_controls

NALISNICK = (
    "**Likelihood is not typicality.** A flow can give images unlike anything it was trained on a *higher* "
    "likelihood than its own test images (Nalisnick et al., 2019, "
    "[Do Deep Generative Models Know What They Don't Know?](https://arxiv.org/abs/1810.09136)): smooth, "
    "low-contrast images are cheap to encode. A low bits/dim is not evidence that an image is in-distribution."
)


def sample_tab(bound: ModelBound) -> None:
    with gr.Tab("Sample", id="sample"):
        with gr.Row():
            with gr.Column(scale=2):
                count = gr.Slider(1, MAX_SAMPLES, value=64, step=1, label="Number of samples")
                temperature = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature",
                                        info="Standard deviation of the latents: lower gives cleaner, less varied "
                                             "samples.")
                bound.sample_class = class_choice = class_dropdown(bound.start.model, ALL_CLASSES,
                                                                   elem_id="sample-class")
                with gr.Row():
                    seed = seed_box()
                    randomize = gr.Checkbox(True, label="Randomize seed")
                with gr.Accordion("Temperature per scale", open=False):
                    per_scale = gr.Checkbox(False, label="Use a temperature per scale (overrides the one above)")
                    coarse = gr.Slider(0, MAX_TEMPERATURE, value=1.0, step=0.05,
                                       label="Coarsest scale (overall structure)")
                    fine = gr.Slider(0, MAX_TEMPERATURE, value=0.5, step=0.05, label="Finest scale (detail)")
                    gr.Markdown("Scales in between are interpolated linearly. Try hot structure with cold "
                                "detail, or the reverse.")
                button = gr.Button("Sample", variant="primary", elem_id="sample-button")
            with gr.Column(scale=3):
                grid, grid_note = first_visit.sample_grid(bound.start)  # shown before any button is pressed
                samples = output_image("Samples", "sample-output", 560, value=grid)
                note = gr.Markdown(grid_note, label="note", elem_id="sample-note")
        button.click(handlers.sample,
                     [bound.picker, count, temperature, seed, randomize, class_choice, per_scale, coarse, fine],
                     [samples, seed, note], api_name="sample")


def interpolate_tab(bound: ModelBound) -> None:
    with gr.Tab("Interpolate", id="interpolate"):
        with gr.Row():
            with gr.Column(scale=2):
                corners = []
                for row in ((0, 1), (2, 3)):
                    with gr.Row():
                        corners += [image_input(f"Corner {i + 1}", bound.picks[i], f"corner{i + 1}", 150) for i in row]
                target = gr.Radio(["1", "2", "3", "4"], value="1", label="Clicking an example fills corner")
                gallery = example_gallery(bound.start, "interpolate-examples")
                with gr.Row():
                    class_choice = class_dropdown(bound.start.model, AUTO_CLASS,
                                                  info="auto: the most likely class of corner 1")
                    invert = invert_radio(bound.start.model)
                grid_size = gr.Slider(3, MAX_GRID, value=5, step=1, label="Manifold grid size")
                steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps from corner 1 to corner 2")
                with gr.Row():
                    manifold_button = gr.Button("Manifold of the four", variant="primary", elem_id="manifold-button")
                    pair_button = gr.Button("Interpolate 1 → 2", elem_id="interpolate-button")
                with gr.Accordion("Animate a latent walk (GIF / WebP)", open=False, elem_id="animate-controls"):
                    walk = gr.Radio([("great circle through the four (closed loop)", "circle"),
                                     ("corner 1 → 2 → 1", "pair")], value="circle", label="Walk",
                                    info="cos(t) z_a + sin(t) z_b keeps the latents on the prior's typical shell.")
                    with gr.Row():
                        frames = gr.Slider(animations.MIN_FRAMES, animations.MAX_FRAMES, value=48, step=1,
                                           label="Frames")
                        fps = gr.Slider(1, animations.MAX_FPS, value=12, step=1, label="Frames per second")
                    fmt = gr.Radio([("GIF", "gif"), ("WebP (lossless)", "webp")], value="gif", label="Format")
                    animate_button = gr.Button("Animate", elem_id="animate-button")
            with gr.Column(scale=3):
                manifold = output_image("Manifold: z = cos α (cos β z₁ + sin β z₂) + sin α (cos β z₃ + sin β z₄)",
                                        "manifold-output", 480)
                manifold_note = gr.Markdown(label="note", elem_id="manifold-note")
                pair = output_image("From corner 1 to corner 2", "interpolate-output", 150)
                pair_note = gr.Markdown(label="note", elem_id="interpolate-note")
                with gr.Row():
                    animation = gr.Image(label="Latent walk", type="filepath", interactive=False, height=300,
                                         elem_id="animate-output", elem_classes=["pixelated", "result"],
                                         buttons=["download", "fullscreen"], scale=2)
                    animation_file = gr.File(label="Animation file", elem_id="animate-file", scale=1)
                animation_note = gr.Markdown(label="note", elem_id="animate-note")
        corner_names = [(corner, f"Corner {i + 1}") for i, corner in enumerate(corners)]
        images_checked(manifold_button.click, corner_names, "manifold").success(
            handlers.manifold, [bound.picker, *corners, class_choice, invert, grid_size], [manifold, manifold_note],
            api_name="manifold")
        images_checked(pair_button.click, corner_names[:2], "interpolate").success(
            handlers.interpolate, [bound.picker, *corners[:2], class_choice, invert, steps], [pair, pair_note],
            api_name="interpolate")
        images_checked(animate_button.click, corner_names, "animate").success(
            handlers.animate, [bound.picker, *corners, class_choice, invert, walk, frames, fps, fmt],
            [animation, animation_file, animation_note], api_name="animate")
        gallery.select(handlers.fill_corner, [bound.picker, target], [*corners, target],
                       api_name="pick_corner", api_visibility="private")
    bound.corners = corners
    bound.follow(class_choice, invert, gallery)


def per_scale_tab(bound: ModelBound) -> None:
    with gr.Tab("Per-scale reconstruction", id="per-scale"):
        with gr.Row():
            with gr.Column(scale=2):
                image, class_choice, invert = single_image_controls(bound, 0, "per-scale")
                resolution = gr.Radio(RESOLUTION_CHOICES, value="model", label="Resolution")
                mode = gr.Radio([("resample", "resample"), ("set to zero", "zero")], value="resample",
                                label="Latents of the finer scales")
                with gr.Row():
                    temperature = gr.Slider(0, MAX_TEMPERATURE, value=1.0, step=0.05,
                                            label="Temperature (resampling)")
                    seed = seed_box()
                button = gr.Button("Reconstruct", variant="primary", elem_id="per-scale-button")
            with gr.Column(scale=3):
                reconstructions = gr.Gallery(label="Keeping the latents of the k coarsest scales", columns=5,
                                             height=270, allow_preview=True, object_fit="contain", format="png",
                                             elem_id="per-scale-output", elem_classes="pixelated")
                note = gr.Markdown(label="note", elem_id="per-scale-note")
        images_checked(button.click, [(image, "image")], "per_scale").success(
            handlers.per_scale, [bound.picker, image, class_choice, invert, resolution, mode, temperature, seed],
            [reconstructions, note], api_name="per_scale")


def mix_scales_tab(bound: ModelBound) -> None:
    with gr.Tab("Mix scales", id="mix-scales"):
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    image_a = image_input("A (coarse)", bound.picks[0], "mix-a", 180)
                    image_b = image_input("B (fine)", bound.picks[3], "mix-b", 180)
                offer_better_model(bound, (image_a, image_b), "mix-suggestion")
                target = gr.Radio(["A", "B"], value="A", label="Clicking an example fills image")
                gallery = example_gallery(bound.start, "mix-examples")
                with gr.Row():
                    class_choice = class_dropdown(bound.start.model, AUTO_CLASS,
                                                  info="auto: the most likely class of image A")
                    invert = invert_radio(bound.start.model)
                resolution = gr.Radio(RESOLUTION_CHOICES, value="model", label="Resolution",
                                      info="At A's own resolution, B is cropped and resized to A's size.")
                button = gr.Button("Mix", variant="primary", elem_id="mix-button")
            with gr.Column(scale=3):
                mixed = gr.Gallery(label="Latents of the k coarsest scales from A, the finer ones from B",
                                   columns=5, height=300, allow_preview=True, object_fit="contain", format="png",
                                   elem_id="mix-output", elem_classes="pixelated")
                note = gr.Markdown(label="note", elem_id="mix-note")
        images_checked(button.click, [(image_a, "Image A"), (image_b, "Image B")], "mix_scales").success(
            handlers.mix_scales, [bound.picker, image_a, image_b, class_choice, invert, resolution],
                     [mixed, note], api_name="mix_scales")
        gallery.select(handlers.fill_pair, [bound.picker, target], [image_a, image_b, target],
                       api_name="pick_mix", api_visibility="private")
    bound.singles += [(image_a, 0), (image_b, 3)]
    bound.follow(class_choice, invert, gallery)


def likelihood_tab(bound: ModelBound) -> None:
    with gr.Tab("Likelihood", id="likelihood"):
        with gr.Row():
            with gr.Column(scale=2):
                image, class_choice, invert = single_image_controls(bound, 1, "likelihood")
                resolution = gr.Radio(RESOLUTION_CHOICES, value="model", label="Resolution",
                                      info="The model is fully convolutional: it can score an image at its own "
                                           "size.")
                button = gr.Button("Evaluate", variant="primary", elem_id="likelihood-button")
                gr.Markdown(NALISNICK)
            # the initial image's result, shown before any button is pressed
            first = first_visit.likelihood(bound.start, bound.picks[1]) or (None,) * 7
            with gr.Column(scale=3):
                heatmap = output_image("Bits per pixel", "likelihood-heatmap", 420, value=first[0])
                with gr.Row():
                    bpd = gr.Number(first[1], label="bits/dim", interactive=False, elem_id="likelihood-bpd", scale=1)
                    bits_file = gr.File(first[5], label="Per-pixel bits (NumPy .npy)", elem_id="likelihood-file",
                                        scale=2)
                sizes = gr.Dataframe(first[6], headers=handlers.SIZE_HEADERS, datatype=["str", "number", "number"],
                                     label="What the bits mean: this image in bytes, under the flow and losslessly "
                                           "compressed (the same 8-bit image, at the resolution scored)",
                                     interactive=False, elem_id="likelihood-sizes")
                breakdown = gr.Dataframe(first[2], headers=["term", "bits/dim"], datatype=["str", "number"],
                                         label="Breakdown of the bits/dim (the terms sum to the total)",
                                         interactive=False, elem_id="likelihood-breakdown")
                histogram = output_image("Among the test images", "likelihood-histogram", 320, value=first[3])
                note = gr.Markdown(first[4], label="note", elem_id="likelihood-note")
        images_checked(button.click, [(image, "image")], "likelihood").success(
            handlers.likelihood, [bound.picker, image, class_choice, invert, resolution],
            [heatmap, bpd, breakdown, histogram, note, bits_file, sizes], api_name="likelihood")


def complete_tab(bound: ModelBound, demo: gr.Blocks) -> None:
    with gr.Tab("Complete", id="complete"):
        with gr.Row():
            with gr.Column(scale=2):
                image, class_choice, invert = single_image_controls(bound, 2, "complete")
                region = gr.Radio([("rectangle", "rectangle"), ("brush", "brush")], value="rectangle",
                                  label="Erase", elem_id="complete-region",
                                  info="The rectangle serves both methods; the brush, the completions below.")
                with gr.Group(visible=True) as rectangle:
                    gr.Markdown("**Rectangle to erase** (fractions of the height and width)")
                    with gr.Row():
                        top = gr.Slider(0, 1, value=0.5, step=0.01, label="Top")
                        bottom = gr.Slider(0, 1, value=1.0, step=0.01, label="Bottom")
                    with gr.Row():
                        left = gr.Slider(0, 1, value=0.0, step=0.01, label="Left")
                        right = gr.Slider(0, 1, value=1.0, step=0.01, label="Right")
                brush = gr.ImageEditor(label="Paint over the pixels to erase", type="numpy", image_mode="RGBA",
                                       sources=[], transforms=[], layers=False, format="png", visible=False,
                                       brush=gr.Brush(colors=["#e63c3c"], color_mode="fixed", default_size=14),
                                       eraser=gr.Eraser(default_size=14), canvas_size=(280, 280), height=380,
                                       elem_id="complete-brush")
                steps = gr.Slider(10, MAX_COMPLETION_STEPS, value=50, step=10, label="Optimization steps")
                with gr.Accordion("Optimizer", open=False):
                    learning_rate = gr.Slider(0.01, 1.0, value=0.2, step=0.01, label="Learning rate (Adam)",
                                              info="Of the pixels when maximizing, of the latents when sampling")
                    seed = seed_box("Seed of the initial noise")
                button = gr.Button("Complete (maximize log p, rectangle)", variant="primary",
                                   elem_id="complete-button")
                with gr.Accordion("Several completions: sample them (or maximize from several starts)", open=True):
                    method = gr.Radio([("sample (latent search + Langevin)", "sample"),
                                       ("maximize log p from several starts", "maximize")], value="sample",
                                      label="Method")
                    with gr.Row():
                        count = gr.Slider(1, handlers.MAX_COMPLETIONS, value=4, step=1, label="Completions")
                        sample_temperature = gr.Slider(0.05, MAX_TEMPERATURE, value=1.0, step=0.05,
                                                       label="Temperature (sampling)")
                    with gr.Row():
                        search_steps = gr.Slider(10, MAX_COMPLETION_STEPS, value=30, step=10,
                                                 label="Steps (latent search; Adam steps when maximizing)")
                        langevin_steps = gr.Slider(0, handlers.MAX_LANGEVIN_STEPS, value=5, step=5,
                                                   label="Langevin steps (sampling)")
                    samples_button = gr.Button("Complete several", elem_id="completions-button")
            with gr.Column(scale=3):
                with gr.Row():
                    preview = output_image("To erase (red)", "complete-preview", 300)
                    completed = output_image("Completed", "complete-output", 300)
                curve = output_image("bits/dim while filling in", "complete-curve", 320)
                note = gr.Markdown(label="note", elem_id="complete-note")
                samples = gr.Gallery(label="Completions, each with its bits/dim", columns=5, height=300,
                                     allow_preview=True, object_fit="contain", format="png",
                                     elem_id="completions-output", elem_classes="pixelated")
                samples_note = gr.Markdown(label="note", elem_id="completions-note")
        preview_inputs = [bound.picker, image, invert, top, bottom, left, right]
        image.change(handlers.erase_preview, preview_inputs, preview, api_name="erase_preview",
                     trigger_mode="always_last", show_progress="hidden")
        for name, component in (("invert", invert), ("top", top), ("bottom", bottom), ("left", left),
                                ("right", right)):
            component.change(handlers.erase_preview, preview_inputs, preview, api_name=f"erase_preview_on_{name}",
                             api_visibility="private", trigger_mode="always_last", show_progress="hidden")
        demo.load(handlers.erase_preview, preview_inputs, preview, api_name="erase_preview_on_load",
                  api_visibility="private", show_progress="hidden")
        # a model switch from a suggestion keeps the image: the preview and the brush follow the model
        bound.picker.change(handlers.erase_preview, preview_inputs, preview, api_name="erase_preview_on_model",
                            api_visibility="private", trigger_mode="always_last", show_progress="hidden")
        for name, trigger in (("image", image.change), ("invert", invert.change), ("load", demo.load),
                              ("model", bound.picker.change)):
            trigger(handlers.brush_canvas, [bound.picker, image, invert], brush, api_name=f"brush_canvas_on_{name}",
                    api_visibility="private", show_progress="hidden")
        region.change(lambda choice: (gr.update(visible=choice == "rectangle"), gr.update(visible=choice == "brush")),
                      region, [rectangle, brush], api_name="complete_region", api_visibility="private",
                      show_progress="hidden")
        images_checked(button.click, [(image, "image")], "complete").success(
            handlers.complete, [bound.picker, image, class_choice, invert, top, bottom, left, right, steps,
                                learning_rate, seed], [completed, curve, note], api_name="complete",
            concurrency_limit=1)
        images_checked(samples_button.click, [(image, "image")], "completions").success(
            handlers.completions, [bound.picker, image, class_choice, invert, region, top, bottom, left, right, brush,
                                   method, count, search_steps, langevin_steps, sample_temperature, learning_rate,
                                   seed], [samples, samples_note], api_name="completions", concurrency_limit=1)


def classify_tab(bound: ModelBound) -> None:
    conditional = bound.start.model.num_classes is not None
    with gr.Tab("Classify", id="classify"):
        with gr.Row():
            with gr.Column(scale=2):
                image = image_input("Image", bound.picks[1], "classify-image")
                offer_better_model(bound, (image,), "classify-suggestion", need_classes=True)
                gallery = example_gallery(bound.start, "classify-examples")
                invert = invert_radio(bound.start.model)
                gallery.select(handlers.picked_example, [bound.picker], image, api_name="pick_classify_image",
                               api_visibility="private")
                needs = gr.Markdown(handlers.NEEDS_CLASSES, visible=not conditional, elem_id="classify-needs")
                button = gr.Button("Classify", variant="primary", interactive=conditional, elem_id="classify-button")
                gr.Markdown("p(y | x) = p(x | y) / Σ p(x | y′): the class-conditional flow's exact likelihoods "
                            "under each class, turned into a posterior by Bayes' rule with a uniform prior.")
            with gr.Column(scale=3):
                chart = output_image("p(class | image)", "classify-output", 300)
                label = gr.Label(num_top_classes=3, label="Most likely classes", elem_id="classify-label")
                note = gr.Markdown(label="note", elem_id="classify-note")
        images_checked(button.click, [(image, "image")], "classify").success(
            handlers.classify, [bound.picker, image, invert], [chart, label, note], api_name="classify")
    bound.singles.append((image, 1))
    bound.inverts.append(invert)
    bound.galleries.append(gallery)
    bound.followers += [(needs, lambda loaded: gr.update(visible=loaded.model.num_classes is None)),
                        (button, lambda loaded: gr.update(interactive=loaded.model.num_classes is not None))]


def ood_tab(bound: ModelBound) -> None:
    choices = handlers.ood_choices(bound.start)
    with gr.Tab("Out-of-distribution", id="ood"):
        with gr.Row():
            with gr.Column(scale=2):
                image = image_input("Image (optional: placed on both histograms)", bound.picks[2], "ood-image")
                offer_better_model(bound, (image,), "ood-suggestion")
                gallery = example_gallery(bound.start, "ood-examples")
                invert = invert_radio(bound.start.model)
                gallery.select(handlers.picked_example, [bound.picker], image, api_name="pick_ood_image",
                               api_visibility="private")
                with gr.Row():
                    other = gr.Dropdown(choices or ["auto"], value=choices[0] if choices else "auto",
                                        label="Compared with", allow_custom_value=True, elem_id="ood-other")
                    codec = gr.Radio([("PNG", "png"), ("WebP", "webp")], value="png", label="Lossless codec",
                                     info="Its bits/dim measure the image's complexity.")
                button = gr.Button("Compare", variant="primary", elem_id="ood-button")
                gr.Markdown("Test-set figures are precomputed (`python -m train.ood`), so this answers at once. "
                            "Upload anything, a digit, a photo or a drawing, and see where it falls.")
            with gr.Column(scale=3):
                chart = output_image("Own test set vs another data set", "ood-output", 340)
                table = gr.Dataframe(headers=["compared with", "score", "AUROC"], datatype=["str", "str", "number"],
                                     label="AUROC of telling the data sets apart (1 = perfectly, 0.5 = chance)",
                                     interactive=False, elem_id="ood-table")
                note = gr.Markdown(label="note", elem_id="ood-note")
        images_checked(button.click, [(image, "image")], "ood", optional=(image,)).success(
            handlers.ood, [bound.picker, image, invert, other, codec], [chart, table, note], api_name="ood")
    bound.singles.append((image, 2))
    bound.inverts.append(invert)
    bound.galleries.append(gallery)

    def other_choices(loaded):
        names = handlers.ood_choices(loaded)
        return gr.update(choices=names or ["auto"], value=names[0] if names else "auto")

    bound.followers.append((other, other_choices))
