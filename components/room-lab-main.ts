import './lab-app.ts';
import './room-banner.ts';
