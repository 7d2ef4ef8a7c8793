import './room-app.ts';
