import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressGroup } from './address.js';

test('addressGroup: IPv4 as is, IPv6 by /64, IPv4-mapped IPv6 as IPv4', () => {
  assert.equal(addressGroup('203.0.113.5'), '203.0.113.5');
  assert.equal(addressGroup('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:fffe'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:db8:1:3::1'), '2001:db8:1:3::/64');
  assert.equal(addressGroup('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(addressGroup('::1'), '0:0:0:0::/64');
  assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressGroup('::ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(addressGroup('64:ff9b::198.51.100.7'), '64:ff9b:0:0::/64');
  assert.equal(addressGroup('unix-socket'), 'unix-socket');
});
