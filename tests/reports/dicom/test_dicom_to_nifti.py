"""DICOM -> NIfTI: geometry checked against dcm2niix (an independent converter) and refusals named."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from pydicom.data import get_testdata_file

from reports.dicom.nifti import ConversionError, dicom_to_nifti
from reports.dicom.synthetic import AXIAL, CORONAL, SAGITTAL, oblique, voxel_values, write_series

DCM2NIIX = Path(sys.executable).with_name("dcm2niix")


def _dcm2niix(series: Path, out_dir: Path) -> nib.Nifti1Image:
    subprocess.run([str(DCM2NIIX), "-z", "y", "-f", "ref", "-o", str(out_dir), str(series)], check=True, capture_output=True)
    (ref,) = out_dir.glob("ref*.nii.gz")
    return nib.load(ref)


def _same_world(ours: nib.Nifti1Image, ref: nib.Nifti1Image) -> None:
    """Same voxels at the same places once both are put in the closest RAS+ order."""
    ours_c, ref_c = nib.as_closest_canonical(ours), nib.as_closest_canonical(ref)
    np.testing.assert_allclose(ours_c.affine, ref_c.affine, atol=1e-3)
    np.testing.assert_array_equal(ours_c.get_fdata(), ref_c.get_fdata())


@pytest.mark.parametrize(
    "orientation", [AXIAL, SAGITTAL, CORONAL, oblique(20.0), oblique(-35.0)], ids=["axial", "sagittal", "coronal", "oblique20", "oblique-35"]
)
def test_synthetic_series_match_dcm2niix(tmp_path, orientation):
    write_series(tmp_path / "series", orientation=orientation, shape=(7, 5, 6), slice_spacing=1.25)
    dicom_to_nifti(tmp_path / "series", tmp_path / "ours.nii.gz")
    _same_world(nib.load(tmp_path / "ours.nii.gz"), _dcm2niix(tmp_path / "series", tmp_path))


def test_the_affine_is_the_known_geometry(tmp_path):
    write_series(tmp_path / "s", orientation=AXIAL, origin=(-50, -60, 10), pixel_spacing=(0.8, 0.7), slice_spacing=2.5,
                 shape=(6, 5, 4))
    dicom_to_nifti(tmp_path / "s", tmp_path / "v.nii")
    image = nib.load(tmp_path / "v.nii")
    # LPS (-50, -60, 10) is RAS (50, 60, 10); columns step 0.7 mm along L, rows 0.8 mm along P.
    expected = np.array([[-0.7, 0, 0, 50], [0, -0.8, 0, 60], [0, 0, 2.5, 10], [0, 0, 0, 1]])
    np.testing.assert_allclose(image.affine, expected, atol=1e-4)
    raw = np.asanyarray(image.dataobj.get_unscaled())
    np.testing.assert_array_equal(raw, voxel_values(6, 5, 4).transpose(2, 1, 0))
    assert (image.dataobj.slope, image.dataobj.inter) == (1, -1024)  # Hounsfield units survive


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_bigendian.dcm", "693_J2KI.dcm"])
def test_pydicom_bundled_files_match_dcm2niix(tmp_path, name):
    source = get_testdata_file(name, download=False)
    if source is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    (tmp_path / "s").mkdir()
    shutil.copy(source, tmp_path / "s" / name)
    dicom_to_nifti(tmp_path / "s", tmp_path / "ours.nii.gz")
    _same_world(nib.load(tmp_path / "ours.nii.gz"), _dcm2niix(tmp_path / "s", tmp_path))


def test_multiframe_rtdose_uses_its_grid_frame_offsets(tmp_path):
    # dcm2niix reads 1 mm between these frames; GridFrameOffsetVector (PS3.3 C.8.8.3.2) says 5.
    source = get_testdata_file("rtdose.dcm", download=False)
    (tmp_path / "s").mkdir()
    shutil.copy(source, tmp_path / "s" / "rtdose.dcm")
    volume = dicom_to_nifti(tmp_path / "s", tmp_path / "dose.nii.gz")
    assert nib.load(tmp_path / "dose.nii.gz").shape == (10, 10, 15)
    assert volume.spacing == pytest.approx((10.0, 10.0, 5.0))


def _refused(folder: Path, out: Path, match: str) -> None:
    with pytest.raises(ConversionError, match=match):
        dicom_to_nifti(folder, out)
    assert not out.exists()
    assert not list(out.parent.glob(".partial-*"))


def test_a_missing_slice_is_refused(tmp_path):
    positions = [(0, 0, 2.0 * k) for k in (0, 1, 2, 4, 5)]
    write_series(tmp_path / "s", positions=positions, shape=(4, 4, 5))
    _refused(tmp_path / "s", tmp_path / "v.nii.gz", r"Missing slices: about 1 slice")


def test_mixed_orientations_are_refused(tmp_path):
    orientations = [AXIAL, AXIAL, oblique(10.0), AXIAL]
    write_series(tmp_path / "s", orientations=orientations, shape=(4, 4, 4))
    _refused(tmp_path / "s", tmp_path / "v.nii.gz", "Mixed orientations")


def test_varying_spacing_is_refused(tmp_path):
    positions = [(0, 0, z) for z in (0.0, 2.0, 4.0, 5.5, 7.5)]
    write_series(tmp_path / "s", positions=positions, shape=(4, 4, 5))
    _refused(tmp_path / "s", tmp_path / "v.nii.gz", "Varying slice spacing")


def test_duplicate_positions_are_refused(tmp_path):
    positions = [(0, 0, z) for z in (0.0, 2.0, 2.0, 4.0)]
    write_series(tmp_path / "s", positions=positions, shape=(4, 4, 4))
    _refused(tmp_path / "s", tmp_path / "v.nii.gz", "share one position")


def test_two_series_in_one_folder_are_refused(tmp_path):
    write_series(tmp_path / "s", shape=(4, 4, 3))
    renamed = tmp_path / "other"
    write_series(renamed, shape=(4, 4, 3))
    for path in renamed.iterdir():
        path.rename(tmp_path / "s" / f"b-{path.name}")
    _refused(tmp_path / "s", tmp_path / "v.nii.gz", "holds 2 series")


def test_the_command_converts_without_a_database(tmp_path):
    write_series(tmp_path / "s", shape=(4, 4, 3))
    (tmp_path / "s" / "README.txt").write_text("not DICOM")
    result = subprocess.run(
        [sys.executable, "manage.py", "dicom_to_nifti", str(tmp_path / "s"), str(tmp_path / "v.nii.gz")],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 0, result.stderr
    assert nib.load(tmp_path / "v.nii.gz").shape == (4, 4, 3)


def test_the_command_names_the_inconsistency(tmp_path):
    write_series(tmp_path / "s", positions=[(0, 0, z) for z in (0.0, 1.0, 3.0)], shape=(4, 4, 3))
    with pytest.raises(CommandError, match="Missing slices"):
        call_command("dicom_to_nifti", str(tmp_path / "s"), str(tmp_path / "v.nii.gz"))


def test_a_study_folder_is_refused_with_the_series_folders_to_choose_from(tmp_path):
    write_series(tmp_path / "study" / "ct", shape=(4, 4, 3))
    write_series(tmp_path / "study" / "scout", shape=(4, 4, 1))
    with pytest.raises(CommandError, match=r"No DICOM image in the folder \(sub-folders are not read: give one series' "
                                           r"folder, e\.g\. .*/study/ct; here: ct, scout\)"):
        call_command("dicom_to_nifti", str(tmp_path / "study"), str(tmp_path / "v.nii.gz"))
    assert not (tmp_path / "v.nii.gz").exists()
