//! The sending side of the file channel: accepted files streamed one at a time, each chunk read into its frame
//! ([`ChunkReader`]), hashed by the browser, and sent with backpressure on the channel's buffer.

use std::collections::VecDeque;

use futures::StreamExt;

use super::{FileChannel, SEND_HIGH_WATER, now_ms};
use crate::rtc::channel::DataChannel;
use crate::rtc::js_error;
use crate::share::chunk_digest;
use crate::share::file_reader::ChunkReader;
use crate::share::transfer::Direction;

/// Chunk digests an outgoing transfer may have under way before the sender waits for the oldest.
const DIGESTS_IN_FLIGHT: usize = 64;

impl FileChannel {
    /// Streams queued outgoing files, one at a time.
    pub(super) fn start_sending(&self) {
        {
            let mut parts = self.parts.borrow_mut();
            if parts.sending {
                return;
            }
            parts.sending = true;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = {
                    let mut parts = this.parts.borrow_mut();
                    let next = parts.send_queue.pop_front();
                    if next.is_none() {
                        parts.sending = false;
                    }
                    next
                };
                let Some(id) = next else { return };
                if let Err(err) = this.send_file(id).await {
                    let effects =
                        this.parts
                            .borrow_mut()
                            .transfers
                            .cancel(id, Direction::Outgoing, now_ms());
                    this.notice.emit(format!("Sending a file failed: {err}"));
                    this.run(effects);
                }
            }
        });
    }

    async fn send_file(&self, id: u32) -> Result<(), String> {
        let (file, channel, mut drained) = {
            let mut parts = self.parts.borrow_mut();
            let file = parts.outgoing.get(&id).cloned().ok_or("the file is gone")?;
            let channel = parts
                .channel
                .as_ref()
                .map(DataChannel::raw)
                .ok_or("no file channel")?;
            (file, channel, parts.drained.take())
        };
        let mut reader = ChunkReader::new(&file, id);
        // Digests under way, oldest first: folded into the transfer in the order of the chunks.
        let mut digests = VecDeque::new();
        let fold = |pending| async move {
            let digest = chunk_digest::finish(pending).await?;
            self.parts
                .borrow_mut()
                .transfers
                .chunk_digest(id, Direction::Outgoing, &digest);
            Ok::<(), String>(())
        };
        let result = async {
            loop {
                if !self.parts.borrow().transfers.still_sending(id) {
                    return Ok(()); // cancelled by either side, or the call ended
                }
                while channel.buffered_amount() > SEND_HIGH_WATER {
                    match drained.as_mut() {
                        Some(rx) => {
                            rx.next().await;
                        }
                        None => {
                            gloo_timers::future::sleep(std::time::Duration::from_millis(5)).await
                        }
                    }
                }
                let Some(frame) = reader.next_frame().await? else {
                    break;
                };
                let data = frame.subarray(4, frame.length());
                digests.push_back(chunk_digest::start(&data)?);
                channel
                    .send_with_array_buffer_view(&frame)
                    .map_err(|e| js_error(&e))?;
                self.parts
                    .borrow_mut()
                    .transfers
                    .sent(id, u64::from(data.length()));
                if digests.len() > DIGESTS_IN_FLIGHT
                    && let Some(oldest) = digests.pop_front()
                {
                    fold(oldest).await?;
                }
                self.progress();
            }
            while let Some(pending) = digests.pop_front() {
                fold(pending).await?;
            }
            let done = self
                .parts
                .borrow_mut()
                .transfers
                .finish_outgoing(id, now_ms());
            self.parts.borrow_mut().outgoing.remove(&id);
            self.run(done.into_iter().collect());
            Ok(())
        }
        .await;
        self.parts.borrow_mut().drained = drained;
        result
    }
}
