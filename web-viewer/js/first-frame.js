// The moment a video element shows the first picture of its current source. A tile lifts
// its "Connecting" veil then: waiting for the once-a-second stats poll to report decoded
// frames kept a picture that was already playing hidden for up to a second.

/**
 * Calls `callback` once, when `video` next presents a frame (requestVideoFrameCallback),
 * or where the browser lacks that, when the first frame of its source is loaded.
 * Call it after setting the source, so the frame is the new source's.
 * @param {HTMLVideoElement} video
 * @param {() => void} callback
 * @returns {() => void} cancels the wait
 */
export function onFirstFrame(video, callback) {
  if (typeof video.requestVideoFrameCallback === 'function') {
    const handle = video.requestVideoFrameCallback(() => callback());
    return () => video.cancelVideoFrameCallback?.(handle);
  }
  const loaded = () => callback();
  video.addEventListener('loadeddata', loaded, { once: true });
  return () => video.removeEventListener('loadeddata', loaded);
}
