"""The photographs of the ``photos`` data set: where each comes from, its SHA-256, licence,
what it shows, and the split it belongs to.

The split is part of this table, so it never drifts: a photograph whose file's bytes do not
hash to the value here is refused (``PhotoChecksumError``) rather than silently used.
The test and validation photographs come only from sources that are always installed with the
project's requirements (scikit-image and scikit-learn), so the held-out sets are the same on
every machine; Debian's ``mate-backgrounds`` package, when installed, adds training photographs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

SKIMAGE, SKLEARN, MATE = "skimage", "sklearn", "mate-backgrounds"
OPTIONAL_SOURCES = (MATE,)  # sources whose absence only shrinks the training set
MATE_NATURE_DIR = Path("/usr/share/backgrounds/mate/nature")
MATE_INSTALL_HINT = "apt-get install mate-backgrounds"


@dataclass(frozen=True)
class Photo:
    name: str
    source: str  # SKIMAGE, SKLEARN or MATE
    file: str  # file name inside the source's directory
    sha256: str  # of the file's bytes
    split: str  # "train", "val" or "test"
    kind: str  # what it shows
    licence: str


_PD = "public domain"
_CC0 = "CC0 1.0"
_BY2 = "CC BY 2.0 (scikit-learn sample image, by danielbuechele / vultilion on Flickr)"
_GPL = "GPL-2+ (Debian mate-backgrounds; authors in /usr/share/doc/mate-backgrounds/copyright)"

PHOTOS: tuple[Photo, ...] = (
    # ---- test: held out whole, one of each kind, from always-available sources
    Photo("astronaut", SKIMAGE, "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
          "test", "portrait of a person (astronaut Eileen Collins)", _PD + " (NASA)"),
    Photo("chelsea", SKIMAGE, "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
          "test", "animal (a cat's face)", _CC0 + " (Stefan van der Walt)"),
    Photo("china", SKLEARN, "china.jpg", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
          "test", "landscape with a building (Summer Palace, Beijing)", _BY2),
    Photo("coffee", SKIMAGE, "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
          "test", "still life (a cup of coffee on a wooden table)", _CC0 + " (Rachel Michetti)"),
    # ---- validation
    Photo("flower", SKLEARN, "flower.jpg", "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
          "val", "close-up of a flower", _BY2),
    # ---- training, always available
    Photo("rocket", SKIMAGE, "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
          "train", "object at night (a Falcon 9 on the launch pad)", _PD + " (SpaceX)"),
    Photo("motorcycle", SKIMAGE, "motorcycle_left.png", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
          "train", "object indoors (a motorcycle in a workshop)", "Middlebury 2014 stereo data set, bundled with scikit-image (BSD-3-Clause)"),
    Photo("hubble_deep_field", SKIMAGE, "hubble_deep_field.jpg", "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
          "train", "astronomy (galaxies on a black sky)", _PD + " (NASA)"),
    Photo("immunohistochemistry", SKIMAGE, "ihc.png", "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
          "train", "microscopy (stained tissue)", _PD + " (no known copyright restrictions)"),
    Photo("retina", SKIMAGE, "retina.jpg", "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
          "train", "medical photograph (fundus of an eye)", _CC0 + " (Mikael Haggstrom)"),
    # ---- training, from Debian's mate-backgrounds (nature/), when installed
    Photo("Aqua", MATE, "Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce",
          "train", "water drop splash", _GPL),
    Photo("Blinds", MATE, "Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600",
          "train", "close-up of a green leaf", _GPL),
    Photo("Dune", MATE, "Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91",
          "train", "landscape (dune grass and sea)", _GPL),
    Photo("FreshFlower", MATE, "FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e",
          "train", "close-up of an orange flower", _GPL),
    Photo("Garden", MATE, "Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78",
          "train", "red flower, blurred background", _GPL),
    Photo("GreenMeadow", MATE, "GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832",
          "train", "grass", _GPL),
    Photo("LadyBird", MATE, "LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d",
          "train", "ladybird on a stem among flowers", _GPL),
    Photo("RainDrops", MATE, "RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16",
          "train", "drops of water on leaves", _GPL),
    Photo("Storm", MATE, "Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957",
          "train", "landscape (storm clouds over a road)", _GPL),
    Photo("TwoWings", MATE, "TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb",
          "train", "dandelion seeds before flowers", _GPL),
    Photo("Wood", MATE, "Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07",
          "train", "wooden planks (texture)", _GPL),
    Photo("YellowFlower", MATE, "YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306",
          "train", "close-up of a yellow flower", _GPL),
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
    if source == MATE:
        return MATE_NATURE_DIR
    raise ValueError(f"unknown photo source {source!r}")
