// graphile-worker's side of the no-op job benchmark: a task that does nothing.
module.exports = async () => {};
