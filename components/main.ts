import './lab-app.ts';
