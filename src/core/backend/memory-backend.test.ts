import { runBackendConformance } from './backend-conformance.ts';
import { MemoryBackend } from './memory-backend.ts';

runBackendConformance('MemoryBackend', async () => ({ backend: new MemoryBackend(), cleanup: async () => {} }), { storesLocally: false });
