"""The photographs of the ``photos`` data set: where each comes from, its SHA-256, licence,
what it shows, its category, and the split it belongs to.

The split is part of this table, so it never drifts: a photograph whose file's bytes do not
hash to the value here is refused (``PhotoChecksumError``) rather than silently used.

The three splits come from separate sources, so that validation and test measure photographs
of kinds, photographers and cameras the model never trained on (the protocol in
``bench/photo_protocol.py`` and the model card):

- **train**: desktop-wallpaper photographs of Debian's ``mate-backgrounds`` and
  ``lomiri-wallpapers-16.04`` / ``-20.04`` packages, and five scikit-image photographs;
- **val** (chooses checkpoints): the photographs among KDE Plasma's wallpapers
  (``plasma-workspace-wallpapers``), scikit-learn's ``flower``, Matplotlib's portrait of Grace
  Hopper and ViSP's Solvay conference group photograph;
- **test** (nothing ever tunes on it): the photographs among OpenCV's sample images
  (``opencv-doc``) and four scikit-image / scikit-learn photographs held out since the first model.

Each photograph has a ``category`` (``smooth``, ``textured``, ``people``, ``man-made``) for the
per-kind tables. Photographs of the Debian packages are optional: where a package is not
installed its photographs are left out with a note (``INSTALL_HINTS``); the scikit-image,
scikit-learn and Matplotlib ones are always there.

Looked at and not used: ``ukui-wallpapers`` (its 12 images are vector renders, none a
photograph) and ``lomiri-wallpapers`` (one rendered default background).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

SKIMAGE, SKLEARN, MATPLOTLIB = "skimage", "sklearn", "matplotlib"
MATE, LOMIRI, PLASMA, OPENCV, VISP = ("mate-backgrounds", "lomiri-wallpapers", "plasma-workspace-wallpapers",
                                      "opencv-doc", "visp-images-data")
# Debian packages: where their images are, and what installs them. Tests point these elsewhere.
SYSTEM_DIRS: dict[str, Path] = {
    MATE: Path("/usr/share/backgrounds/mate/nature"),
    LOMIRI: Path("/usr/share/backgrounds"),
    PLASMA: Path("/usr/share/wallpapers"),
    OPENCV: Path("/usr/share/doc/opencv-doc/examples/data"),
    VISP: Path("/usr/share/visp-images-data/ViSP-images"),
}
OPTIONAL_SOURCES = tuple(SYSTEM_DIRS)  # sources whose absence only shrinks a split
# a folder with one subfolder per Debian package, made by `python -m train.pack_photos`: read in their
# place on a machine without the packages (a lent GPU machine, which can install nothing)
PACKED_SOURCES_ENV = "REALNVP_PHOTO_SOURCES"
INSTALL_HINTS = {
    MATE: "apt-get install mate-backgrounds",
    LOMIRI: "apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04",
    PLASMA: "apt-get install plasma-workspace-wallpapers",
    OPENCV: "apt-get install opencv-doc",
    VISP: "apt-get install visp-images-data",
}
CATEGORIES = ("smooth", "textured", "people", "man-made")


@dataclass(frozen=True)
class Photo:
    name: str
    source: str  # one of the sources above
    file: str  # path inside the source's directory
    sha256: str  # of the file's bytes
    split: str  # "train", "val" or "test"
    kind: str  # what it shows
    licence: str
    category: str = "textured"  # one of CATEGORIES: the row of the per-kind tables


_PD = "public domain"
_CC0 = "CC0 1.0"
_BY2 = "CC BY 2.0 (scikit-learn sample image, by danielbuechele / vultilion on Flickr)"
_GPL = "GPL-2+ (Debian mate-backgrounds; authors in /usr/share/doc/mate-backgrounds/copyright)"
_KDE = "GPL-2+ (KDE Visual Design Group; /usr/share/doc/plasma-workspace-wallpapers/copyright)"
_LOM = "(Debian lomiri-wallpapers; /usr/share/doc/lomiri-wallpapers-16.04/copyright)"
_CV = "OpenCV sample data (BSD-3-Clause / Apache-2.0 with OpenCV; /usr/share/doc/opencv-doc/copyright)"
_PL = "{}/contents/images/2560x1600.jpg"


PHOTOS: tuple[Photo, ...] = (
    # ---- test: nothing tunes on these; always available
    Photo("astronaut", SKIMAGE, "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
          "test", "portrait of a person (astronaut Eileen Collins)", _PD + " (NASA)", "people"),
    Photo("chelsea", SKIMAGE, "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
          "test", "animal (a cat's face)", _CC0 + " (Stefan van der Walt)", "textured"),
    Photo("china", SKLEARN, "china.jpg", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
          "test", "landscape with a building (Summer Palace, Beijing)", _BY2, "man-made"),
    Photo("coffee", SKIMAGE, "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
          "test", "still life (a cup of coffee on a wooden table)", _CC0 + " (Rachel Michetti)", "man-made"),
    # ---- test: OpenCV's sample photographs (opencv-doc), when installed
    Photo("apple", OPENCV, "apple.jpg", "e86879de3d9a807dedc742a8f464f39e6b74bbb531a1fba3583155d94997d1cd",
          "test", "an apple on a plain background", _CV, "smooth"),
    Photo("orange", OPENCV, "orange.jpg", "152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079",
          "test", "an orange on a plain background", _CV, "smooth"),
    Photo("stuff", OPENCV, "stuff.jpg", "21cd00afbdd0727f445dd91c0a09633e6345ed5b05a3d2355453a1f3c314c6c5",
          "test", "objects on a plain table top", _CV, "smooth"),
    Photo("fruits", OPENCV, "fruits.jpg", "9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1",
          "test", "cut fruit (oranges, lemons, kiwi)", _CV, "textured"),
    Photo("baboon", OPENCV, "baboon.jpg", "1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f",
          "test", "a mandrill's face (fur)", _CV, "textured"),
    Photo("squirrel", OPENCV, "squirrel_cls.jpg", "20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b",
          "test", "a squirrel on a branch among leaves", _CV, "textured"),
    Photo("butterfly", OPENCV, "butterfly.jpg", "34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8",
          "test", "a butterfly on a leaf", _CV, "textured"),
    Photo("aero", OPENCV, "aero1.jpg", "d9a69191f6e3642ea361bc3c62e677b2f40fe6534b78da540f4155e0734b59ef",
          "test", "aerial view of a town", _CV, "textured"),
    Photo("chicky", OPENCV, "chicky_512.png", "4d2cf040de084fd3f34d5e3f96f1251faaa4787c1ac3b548fec5809a0d01854e",
          "test", "a dog's face", _CV, "textured"),
    Photo("messi", OPENCV, "messi5.jpg", "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9",
          "test", "a football player on a pitch", _CV, "people"),
    Photo("board", OPENCV, "board.jpg", "4c9a24ba67138ad5486d550f586cc5dd1161be112f1c1bea336d6c550cdf255f",
          "test", "a circuit board", _CV, "man-made"),
    Photo("building", OPENCV, "building.jpg", "742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07",
          "test", "an office building", _CV, "man-made"),
    Photo("home", OPENCV, "home.jpg", "23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2",
          "test", "a domed building against the sky", _CV, "man-made"),
    Photo("leuven", OPENCV, "leuvenA.jpg", "b2977cdbd9fb3f94dadd6f76cf586d145676deb8a22b5f0f42149d21c058c09f",
          "test", "a street of brick houses", _CV, "man-made"),
    Photo("smarties", OPENCV, "smarties.png", "ad3f751c053fdcf432687c1bc0e56a61a9119d2bb2ae29365f8aa6534fc77417",
          "test", "coloured sweets on white", _CV, "man-made"),
    Photo("rubberwhale", OPENCV, "rubberwhale1.png", "eb312435369dac9efcc92f7e098edbd9ed8d7e6dfede8b3b4d8e3702cd80b796",
          "test", "toys and cloth (Middlebury optical flow scene)", _CV, "man-made"),
    Photo("books", OPENCV, "left.jpg", "fb314330c3eb0a81651c682803e73b348898157267fbc37c4c2c07d1b3a8e321",
          "test", "books on a table", _CV, "man-made"),
    # ---- validation: chooses checkpoints; its sources are never trained on
    Photo("flower", SKLEARN, "flower.jpg", "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
          "val", "close-up of a flower", _BY2, "textured"),
    Photo("grace_hopper", MATPLOTLIB, "mpl-data/sample_data/grace_hopper.jpg",
          "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
          "val", "portrait of a person (Grace Hopper)", _PD + " (US Navy; Matplotlib sample data)", "people"),
    Photo("solvay", VISP, "Solvay/Solvay_conference_1927_Version2_2126x1463.png",
          "c98b2f60bd2a47451cf37bdf276a7e78d83f872781120b420a76f7bd68c1ca0e",
          "val", "group photograph (Solvay conference 1927, colourised)", _PD + " (1927; ViSP images data, GPL-2+)", "people"),
    # validation, from KDE Plasma's wallpapers (plasma-workspace-wallpapers), when installed
    Photo("ColdRipple", PLASMA, _PL.format("ColdRipple"),
          "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f",
          "val", "a jetty in grey fog over still water", _KDE, "smooth"),
    Photo("DarkestHour", PLASMA, _PL.format("DarkestHour"),
          "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce",
          "val", "a dark blue lake at dusk", _KDE, "smooth"),
    Photo("summer_1am", PLASMA, _PL.format("summer_1am"),
          "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8",
          "val", "a calm lake under a violet sky", _KDE, "smooth"),
    Photo("Kite", PLASMA, _PL.format("Kite"),
          "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8",
          "val", "a kite in a blue sky with clouds", _KDE, "smooth"),
    Photo("FallenLeaf", PLASMA, _PL.format("FallenLeaf"),
          "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de",
          "val", "autumn leaves on the ground", _KDE, "textured"),
    Photo("OneStandsOut", PLASMA, _PL.format("OneStandsOut"),
          "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd",
          "val", "moss plants from above", _KDE, "textured"),
    Photo("Path", PLASMA, _PL.format("Path"),
          "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8",
          "val", "a path through a pine forest", _KDE, "textured"),
    Photo("ColorfulCups", PLASMA, _PL.format("ColorfulCups"),
          "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d",
          "val", "stacked plastic cups", _KDE, "man-made"),
    Photo("Grey", PLASMA, _PL.format("Grey"),
          "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed",
          "val", "a building's facade (black and white)", _KDE, "man-made"),
    Photo("BytheWater", PLASMA, _PL.format("BytheWater"),
          "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f",
          "val", "wooden planks of a jetty by a lake", _KDE, "man-made"),
    Photo("EveningGlow", PLASMA, _PL.format("EveningGlow"),
          "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a",
          "val", "rowing boats on a shore at sunset", _KDE, "man-made"),

    # ---- training, always available
    Photo("rocket", SKIMAGE, "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
          "train", "object at night (a Falcon 9 on the launch pad)", _PD + " (SpaceX)", "man-made"),
    Photo("motorcycle", SKIMAGE, "motorcycle_left.png", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
          "train", "object indoors (a motorcycle in a workshop)", "Middlebury 2014 stereo data set, bundled with scikit-image (BSD-3-Clause)", "man-made"),
    Photo("hubble_deep_field", SKIMAGE, "hubble_deep_field.jpg", "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
          "train", "astronomy (galaxies on a black sky)", _PD + " (NASA)", "smooth"),
    Photo("immunohistochemistry", SKIMAGE, "ihc.png", "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
          "train", "microscopy (stained tissue)", _PD + " (no known copyright restrictions)", "textured"),
    Photo("retina", SKIMAGE, "retina.jpg", "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
          "train", "medical photograph (fundus of an eye)", _CC0 + " (Mikael Haggstrom)", "smooth"),
    # ---- training, from Debian's mate-backgrounds (nature/), when installed
    Photo("Aqua", MATE, "Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce",
          "train", "water drop splash", _GPL, "smooth"),
    Photo("Blinds", MATE, "Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600",
          "train", "close-up of a green leaf", _GPL, "textured"),
    Photo("Dune", MATE, "Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91",
          "train", "landscape (dune grass and sea)", _GPL, "textured"),
    Photo("FreshFlower", MATE, "FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e",
          "train", "close-up of an orange flower", _GPL, "textured"),
    Photo("Garden", MATE, "Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78",
          "train", "red flower, blurred background", _GPL, "textured"),
    Photo("GreenMeadow", MATE, "GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832",
          "train", "grass", _GPL, "textured"),
    Photo("LadyBird", MATE, "LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d",
          "train", "ladybird on a stem among flowers", _GPL, "textured"),
    Photo("RainDrops", MATE, "RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16",
          "train", "drops of water on leaves", _GPL, "textured"),
    Photo("Storm", MATE, "Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957",
          "train", "landscape (storm clouds over a road)", _GPL, "smooth"),
    Photo("TwoWings", MATE, "TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb",
          "train", "dandelion seeds before flowers", _GPL, "textured"),
    Photo("Wood", MATE, "Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07",
          "train", "wooden planks (texture)", _GPL, "textured"),
    Photo("YellowFlower", MATE, "YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306",
          "train", "close-up of a yellow flower", _GPL, "textured"),
    # ---- training, from Debian's lomiri-wallpapers-16.04 / -20.04, when installed
    Photo("Bridge", LOMIRI, "Bridge_by_Sander_Klootwijk.jpg", "bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050",
          "train", "bridge cables against sky and a beach", "CC BY-SA 4.0 (Sander Klootwijk) " + _LOM, "smooth"),
    Photo("Dragonfly", LOMIRI, "Dragonfly_by_Bolly.jpg", "af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3",
          "train", "a dragonfly on ivy against the sky", "CC BY-SA 4.0 (Bolly) " + _LOM, "textured"),
    Photo("Kleiber", LOMIRI, "Kleiber_by_Lukas_Baubkus.jpg", "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7",
          "train", "a nuthatch on a tree trunk, blurred background", "CC BY-SA 3.0 (Lukas Baubkus) " + _LOM, "smooth"),
    Photo("Picture_0B", LOMIRI, "Picture_0B_by_freespace.jpg", "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad",
          "train", "a fig in a red bowl on concrete", "CC BY 4.0 (freespace) " + _LOM, "man-made"),
    Photo("Picture_1A", LOMIRI, "Picture_1A_by_freespace.jpg", "89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b",
          "train", "paint brushes in a jar", "CC BY 4.0 (freespace) " + _LOM, "man-made"),
    Photo("Wine", LOMIRI, "Wine_by_Jakkub_Mede.jpg", "d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74",
          "train", "a room with a bean bag and a table", "CC BY 4.0 (Jakkub Mede) " + _LOM, "man-made"),
    Photo("aitzgorri", LOMIRI, "aitzgorri_by_Aitzol_Berasategi.jpg", "66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36",
          "train", "mountain landscape with autumn trees", "CC BY 4.0 (Aitzol Berasategi) " + _LOM, "textured"),
    Photo("free", LOMIRI, "free_by_Peter_Nerlich.jpg", "85a5453c2fed514c75973016f3d862aca62eb7ca087618822469274ac1092373",
          "train", "ceiling lamps and a toy bird", "CC BY-SA 4.0 (Peter Nerlich) " + _LOM, "smooth"),
    Photo("friends", LOMIRI, "friends_by_Aitzol_Berasategi.jpg", "cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d",
          "train", "two dogs behind a wooden fence", "CC BY 4.0 (Aitzol Berasategi) " + _LOM, "man-made"),
    Photo("greentock", LOMIRI, "greentock_by_Peter_Nerlich.jpg", "e7b20e2db9dcd6e2b278ca55873c2110b35d89cd38b04d0b18728726888e6889",
          "train", "a wall clock close up", "CC BY-SA 4.0 (Peter Nerlich) " + _LOM, "smooth"),
    Photo("life", LOMIRI, "life_by_Aitzol_Berasategi.jpg", "4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05",
          "train", "a stream over rocks in a forest", "CC BY 4.0 (Aitzol Berasategi) " + _LOM, "textured"),
    Photo("picosdeeuropa", LOMIRI, "picosdeeuropa_by_Aitzol_Berasategi.jpg", "414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a",
          "train", "mountains and a path under clouds", "CC BY 4.0 (Aitzol Berasategi) " + _LOM, "textured"),
    Photo("seeding", LOMIRI, "seeding_by_Clements_Engelhardt.jpg", "a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f",
          "train", "dandelion clocks in a meadow", "CC0 1.0 (Clements Engelhardt) " + _LOM, "textured"),
    Photo("sunset", LOMIRI, "sunset_by_Aitzol_Berasategi.jpg", "474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18",
          "train", "sunset over hills", "CC BY 4.0 (Aitzol Berasategi) " + _LOM, "smooth"),
)


def _package_dir(package: str) -> Path:
    """A package's directory, found without importing it (importing scikit-learn takes seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the {package} package is not installed")
    return Path(spec.origin).parent


def source_dir(source: str) -> Path:
    """The directory holding ``source``'s files (it may not exist for an optional source)."""
    if source == SKIMAGE:
        return _package_dir("skimage") / "data"
    if source == SKLEARN:
        return _package_dir("sklearn") / "datasets" / "images"
    if source == MATPLOTLIB:
        return _package_dir("matplotlib")
    if source in SYSTEM_DIRS:
        packed = os.environ.get(PACKED_SOURCES_ENV)
        return Path(packed) / source if packed else SYSTEM_DIRS[source]
    raise ValueError(f"unknown photo source {source!r}")
