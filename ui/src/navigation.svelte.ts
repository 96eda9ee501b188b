// Which screen the app shows, shared so a screen can send the user to another one
// (Timeline → Sandboxes after a recovery). App sets it to its first screen when it starts.
export const navigation = $state({ current: '' });
