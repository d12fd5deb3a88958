"""Photo bytes for the page, addressed only by photo id: thumbnails and full-size views."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from photodup.finder.records import Photo
from photodup.imaging import ImageDecodeError
from photodup.ui.inputs import photo_id as parse_photo_id
from photodup.ui.state import State, UiState
from photodup.ui.thumbnails import OutsideLibraryError, full_size_jpeg

router = APIRouter()


def _photo(state: UiState, raw_id: str) -> Photo:
    # The id arrives as text and is parsed strictly: "1.0", " 1" and 2**63 are not ids.
    photo_id = parse_photo_id(raw_id)
    with state.store.lock:
        photo = state.store.get_photo(photo_id)
    if photo is None:
        raise HTTPException(404, f"no photo with id {photo_id} in the index")
    return photo


def _fail(photo: Photo, exc: Exception) -> HTTPException:
    if isinstance(exc, OutsideLibraryError):
        return HTTPException(403, f"photo {photo.id}: refused, its path is outside the library")
    if isinstance(exc, FileNotFoundError):
        return HTTPException(404, f"photo {photo.id}: {exc} (moved or deleted since the scan)")
    if isinstance(exc, ImageDecodeError):
        return HTTPException(422, f"photo {photo.id}: cannot decode {exc.name}: {exc.reason}")
    return HTTPException(500, f"photo {photo.id}: {exc}")


@router.get("/photos/{photo_id}/thumb")
def thumbnail(photo_id: str, state: State) -> FileResponse:
    # Plain functions run in the thread pool: decoding never blocks the event loop.
    photo = _photo(state, photo_id)
    try:
        path = state.thumbs.get(photo)
    except (OSError, ImageDecodeError) as exc:
        raise _fail(photo, exc) from None
    # Keyed by content hash, so the same URL may show a new file after a rescan: revalidate.
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})


@router.get("/photos/{photo_id}/full")
def full_size(photo_id: str, state: State) -> Response:
    photo = _photo(state, photo_id)
    try:
        data = full_size_jpeg(state.library, photo, state.settings.full_max_side)
    except (OSError, ImageDecodeError) as exc:
        raise _fail(photo, exc) from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
